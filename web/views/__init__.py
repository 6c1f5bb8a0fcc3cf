"""The page handlers, one module per screen; ``web.pages`` routes them."""
