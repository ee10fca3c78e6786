"""Observation requests: the XML format, its schema, and a hardened parser.

:func:`parse_request` turns a request document into a :class:`RequestSpec`
or raises :class:`InvalidRequest` listing every problem with its line,
element and attribute. The schema is ``schema/request-1.xsd`` in this package.
"""

from pyros.requests.parser import MAX_DEPTH, MAX_ELEMENTS, MAX_SIZE, parse_request
from pyros.requests.problems import InvalidRequest, RequestProblem
from pyros.requests.spec import AlbumSpec, ConstraintsSpec, PlanSpec, RequestSpec, SequenceSpec, TargetSpec, Window

__all__ = ["MAX_DEPTH", "MAX_ELEMENTS", "MAX_SIZE", "AlbumSpec", "ConstraintsSpec", "InvalidRequest", "PlanSpec",
           "RequestProblem", "RequestSpec", "SequenceSpec", "TargetSpec", "Window", "parse_request"]
