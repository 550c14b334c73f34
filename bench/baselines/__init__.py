"""Small comparison apps for bench/http.py: each is the least a server can do for one workload."""
