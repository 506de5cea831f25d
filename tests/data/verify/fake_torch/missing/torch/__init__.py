# Stands in for an absent torch: what `import torch` raises when no torch is installed.
raise ModuleNotFoundError("No module named 'torch'", name="torch")
