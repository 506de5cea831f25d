from typing import Optional

__all__ = ['__version__', 'debug', 'cuda', 'git_version', 'hip', 'rocm', 'xpu']
__version__ = '2.14.0+cpu'
debug = False
cuda: Optional[str] = None
git_version = '08187d9e0fba026dc8217405802ab5381dc88d90'
hip: Optional[str] = None
rocm: Optional[str] = None
xpu: Optional[str] = None
