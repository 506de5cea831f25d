# Stands in for a torch whose native extension crashes while loading.
import os
import sys

sys.stderr.write("free(): invalid pointer\n")
sys.stderr.flush()
os.abort()
