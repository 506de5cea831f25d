"""The compatibility matrix: data files, their validated model, and queries over them."""
