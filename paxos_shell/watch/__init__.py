"""The watch: recording proxies in front of the acceptors, so foreign proposers' exchanges reach the session."""
