"""The buttons a card offers (hub.domain.actions) follow the state machine's decisions."""

from __future__ import annotations

from hub.domain.actions import action_table, card_actions


def test_a_desk_gets_claim_and_return_on_a_queued_task_of_its_unit() -> None:
    """A P1 desk sees claim, return and message on its unit's queued task, nothing to hold."""
    assert card_actions("p1", "queued", "p1", same_unit=True, mine=False) == {
        "claim", "return", "message"}


def test_only_the_holder_gets_the_working_buttons() -> None:
    """The holder of a claimed P1 task may dispose, hold or return it; a colleague may not."""
    assert card_actions("p1", "claimed", "p1", same_unit=True, mine=True) == {
        "dispose", "hold", "return", "message"}
    assert card_actions("p1", "claimed", "p1", same_unit=True, mine=False) == {"message"}
    assert card_actions("p2", "claimed", "p2", same_unit=True, mine=True) == {
        "complete", "hold", "return", "message"}


def test_another_units_desk_gets_no_working_buttons() -> None:
    """A P2 desk of another unit gets nothing but the thread on a queued P2 task."""
    assert card_actions("p2", "queued", "p2", same_unit=False, mine=False) == {"message"}


def test_the_front_office_resubmits_a_returned_task() -> None:
    """P0 and admin get resubmit on a returned task; a completed task offers nothing."""
    assert "resubmit" in card_actions("p0", "returned", "p0", same_unit=False, mine=False)
    assert "resubmit" in card_actions("admin", "returned", "p0", same_unit=False, mine=False)
    assert card_actions("p0", "completed", "p2", same_unit=False, mine=False) == set()


def test_a_supervisor_releases_and_takes_over_at_their_unit() -> None:
    """A supervisor may release a held task and take over one of their own unit's tasks, and
    one who took a task over works it as the desk."""
    assert card_actions("supervisor", "claimed", "p1", same_unit=True, mine=False) >= {
        "release", "takeover"}
    assert card_actions("supervisor", "queued", "p1", same_unit=False, mine=False) == {
        "message", "reassign"}
    took_over = card_actions("supervisor", "claimed", "p1", same_unit=True, mine=True)
    assert {"dispose", "hold", "release"} <= took_over and "takeover" not in took_over


def test_a_supervisor_card_offers_reassign_and_reroute_only_while_they_are_possible() -> None:
    """The supervisor screen's link to the task page's reassign and re-route forms follows
    the card: re-route only at P2, neither once the task is back at the front office."""
    assert {"reassign", "reroute"} <= card_actions("supervisor", "claimed", "p2",
                                                   same_unit=False, mine=False)
    assert "reroute" not in card_actions("supervisor", "claimed", "p1", same_unit=False,
                                         mine=False)
    returned = card_actions("supervisor", "returned", "p0", same_unit=False, mine=False)
    assert not returned & {"reassign", "reroute", "release", "takeover"}
    assert card_actions("admin", "queued", "p2", same_unit=False, mine=False) == {
        "message", "reassign", "reroute"}


def test_a_device_role_gets_no_buttons() -> None:
    """A kiosk or hall display is no actor of the state machine."""
    assert card_actions("kiosk", "queued", "p1", same_unit=True, mine=False) == set()


def test_the_browsers_table_answers_every_situation_as_the_server_does() -> None:
    """The table shipped to the boards' JS holds card_actions for every situation."""
    table = action_table("p1")
    assert len(table) == 5 * 3 * 2 * 2
    assert table["queued|p1|1|0"] == ["claim", "message", "return"]
    assert table["claimed|p1|1|1"] == sorted(
        card_actions("p1", "claimed", "p1", same_unit=True, mine=True))
