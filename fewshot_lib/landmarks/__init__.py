"""Landmarks: the iBUG-68 schema, detector backends, the landmark sketch and face crops."""
