# Stands in for a cu128 build of torch on a machine whose driver is too old for it.
import types
import warnings

__version__ = "2.8.0+cu128"
version = types.SimpleNamespace(cuda="12.8", hip=None)


class _Cuda:
    nccl = types.SimpleNamespace(version=lambda: (2, 27, 3))

    def is_available(self):
        warnings.warn(
            "CUDA initialization: The NVIDIA driver on your system is too old (found version 12020). "
            "Please update your GPU driver by downloading and installing a new version from the URL: "
            "http://www.nvidia.com/Download/index.aspx",
            UserWarning,
        )
        return False

    def device_count(self):
        return 0

    def get_arch_list(self):
        return []


cuda = _Cuda()
backends = types.SimpleNamespace(
    cudnn=types.SimpleNamespace(is_available=lambda: True, version=lambda: 91002, allow_tf32=True),
    cuda=types.SimpleNamespace(matmul=types.SimpleNamespace(allow_tf32=False)),
)


def get_float32_matmul_precision():
    return "highest"


def get_num_threads():
    return 1
