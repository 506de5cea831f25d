__version__ = '0.28.0+cpu'
git_version = '8fb87713a24951e639c494b0f2a8a81b5f8e33a6'
from torchvision.extension import _check_cuda_version
if _check_cuda_version() > 0:
    cuda = _check_cuda_version()
