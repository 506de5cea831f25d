__version__ = '2.10.0+cpu'
git_version = '27b7ebdebd2d2e4d34a2f5c05b0fb26efbd1da63'
