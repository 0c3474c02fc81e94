// Scratch entry point (written by the CI/seed helper); replace freely.
mod real_kernel;
