"""Locust user classes, one module per scenario; they run only inside locust processes (gevent)."""
