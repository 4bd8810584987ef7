"""The operator's setup and check tool (`python -m huelights_setup`); never copied into a function image."""
