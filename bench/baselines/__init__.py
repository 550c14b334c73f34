"""Small comparison apps for bench/http_load.py: each is the least a server can do for one workload."""
