"""What the programs ask of the operating system: signal handling and the XDG directories."""
