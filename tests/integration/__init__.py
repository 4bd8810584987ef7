"""Tests that run the whole local stack as processes on 127.0.0.1."""
