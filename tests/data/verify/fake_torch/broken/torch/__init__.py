# Stands in for a torch whose CUDA libraries cannot be loaded.
raise ImportError("libcudnn.so.9: cannot open shared object file: No such file or directory")
