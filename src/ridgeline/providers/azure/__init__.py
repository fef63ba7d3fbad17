"""Microsoft Azure: the resource catalogue, the live scan and the Resource Graph/ARM shapes."""
