import sys
from pathlib import Path

# contract.py holds the shared AccountantContract; make it importable as a
# plain module whatever pytest's import mode is.
sys.path.insert(0, str(Path(__file__).parent))
