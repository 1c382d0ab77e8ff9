"""VAE Latent Explorer: a 2-D VAE on MNIST, its training, checkpoints and latent-space tools."""
