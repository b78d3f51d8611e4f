"""The broadcast pages: compose and send, and the live dashboard of sent broadcasts with its actions."""
