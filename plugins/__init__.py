"""Built-in GAN families, installed as ``gansrv_plugins.<family>``; each folder is one plugin."""
