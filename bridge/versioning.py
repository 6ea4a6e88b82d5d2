"""Chart metadata checks: the version (Helm requires SemVer 2) and the name."""

from __future__ import annotations

import re

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def check_chart_version(version: str) -> None:
    if not _SEMVER.match(version):
        raise ValueError(f"{version!r} is not a SemVer 2 version such as 0.1.0")


# The chart name becomes part of every object name (`<release>-<chart>`) and of the template names in
# _helpers.tpl, so it must be a DNS label; 53 characters leaves room for a release name prefix.
_CHART_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_CHART_NAME = 53


def check_chart_name(name: str) -> None:
    if len(name) > MAX_CHART_NAME or not _CHART_NAME.match(name):
        raise ValueError(
            f"{name!r} is not a valid chart name: lower-case letters, digits and '-', starting and ending "
            f"with a letter or digit, at most {MAX_CHART_NAME} characters"
        )
