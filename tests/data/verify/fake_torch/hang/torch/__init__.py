# Stands in for an `import torch` that never returns (a hung network filesystem, a stuck driver).
import time

while True:
    time.sleep(1)
