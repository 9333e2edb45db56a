"""The dialog backends, one module each; every module is imported only when a pipeline uses its backend."""
