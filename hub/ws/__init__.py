"""The /ws endpoint: handshake, one connection, its outgoing frames, the registry of open
sockets."""
