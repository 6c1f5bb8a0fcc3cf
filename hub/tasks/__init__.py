"""The life of a permohonan: task commands, supervision, SLA clocks and their acknowledgements, how
a task looks in JSON, search and unread counts."""
