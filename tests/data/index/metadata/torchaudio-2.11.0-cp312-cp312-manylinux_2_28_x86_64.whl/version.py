__version__ = '2.11.0+cu130'
git_version = '34c52a67e8941bbd8e6adaca0eb0b9eabec11d78'
