"""SLA clocks firing: scheduling, warnings and breaches recorded once, the sweep, escalation, the
complaints' deadline."""
