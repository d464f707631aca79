"""Small helpers shared by master and node code (no cluster knowledge)."""
