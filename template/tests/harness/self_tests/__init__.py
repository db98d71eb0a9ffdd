"""The harness's own tests: each proves a guarantee of the harness on this project."""
