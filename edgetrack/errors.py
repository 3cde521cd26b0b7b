"""Errors for people: each names what went wrong, where, and what to do about it."""

from __future__ import annotations


class EdgetrackError(Exception):
    """Base class; the CLI prints these as one red line and exits with code 2."""


class ConfigError(EdgetrackError):
    """A configuration value or key is invalid."""


class RegistryError(EdgetrackError, KeyError):
    """A name is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ModelError(EdgetrackError):
    """A model cannot be built with the requested settings."""


class DataError(EdgetrackError):
    """A dataset root, sequence or annotation is missing or malformed."""


class TrackingError(EdgetrackError):
    """The tracker got input it cannot use (bad box, bad frame, not initialised)."""


class ArtifactError(EdgetrackError):
    """An artifact folder is missing, incomplete or of the wrong stage."""


class CheckpointError(ArtifactError):
    """A checkpoint cannot be read or does not match the model."""


class MissingDependencyError(EdgetrackError):
    """An optional package is needed for this feature but is not installed."""

    def __init__(self, package: str, extra: str, feature: str) -> None:
        super().__init__(f"{feature} needs the '{package}' package: pip install 'edgetrack[{extra}]'")
        self.package = package
        self.extra = extra
