"""Run the tutorials' original programs, unmodified, in their own frameworks beside the ports."""
