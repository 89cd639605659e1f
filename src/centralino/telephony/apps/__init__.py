"""The PBX's own call applications: voicemail and call screening."""
