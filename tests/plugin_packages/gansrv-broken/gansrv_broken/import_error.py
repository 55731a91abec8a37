"""A plugin whose import fails, as when it needs a package that is not installed."""

raise ImportError("gansrv_broken needs the package 'not_installed_anywhere'")
