# The examples' tests (test/examples/) run real tools from Debian: POV-Ray renders frames,
# ffmpeg stitches and ffprobe counts them (rendering), RDKit scores molecules (screening).
apt_need povray ffmpeg python3-rdkit
