"""The ptsa command: run, web, worker, init-db, seed, user, check."""
