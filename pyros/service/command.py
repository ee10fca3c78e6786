"""The ``@command`` and ``@operation`` decorators and the command specification they yield."""

from __future__ import annotations

import enum
import inspect
import math
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from pyros.messages import pack
from pyros.service.access import check_level
from pyros.service.context import CallContext
from pyros.service.quantity import Quantity
from pyros.service.docstring import parse_docstring
from pyros.service.refusal import Refusal
from pyros.service.session import Session
from pyros.service.validation import ArgumentTypeError, check_annotation, coerce, describe_value, type_name

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS_ATTR = "__pyros_command__"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class CommandOptions:
    """What a decorator recorded on a method, before its signature is read."""

    level: str
    timeout: float | None
    name: str | None
    long: bool
    exclusive: bool


def _check_timeout(timeout: float | None) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout <= 0:
        raise ValueError(f"command timeout must be a positive number of seconds or None, got {timeout!r}")
    return float(timeout)


def _check_name(name: str | None) -> str | None:
    if name is not None and (not isinstance(name, str) or not _NAME.match(name)):
        raise ValueError(f"command name must match {_NAME.pattern}, got {name!r}")
    return name


def _mark(func: F, options: CommandOptions, decorator: str) -> F:
    if not inspect.isfunction(func):
        raise TypeError(f"{decorator} decorates a plain method (def), not {func!r}")
    setattr(func, _OPTIONS_ATTR, options)
    return func


@overload
def command(func: F, /) -> F: ...


@overload
def command(*, level: str = "observer", timeout: float | None = None, name: str | None = None) -> Callable[[F], F]: ...


def command(
    func: F | None = None,
    /,
    *,
    level: str = "observer",
    timeout: float | None = None,
    name: str | None = None,
) -> F | Callable[[F], F]:
    """Declare a method of a :class:`~pyros.service.Service` as a command.

    Parameters are read from the signature and type hints and validated
    before every call (see :mod:`pyros.service.validation`). The method runs
    in its own thread; it is given ``timeout`` seconds (the runtime's
    default when ``None``), after which the caller gets ``CommandTimeout``.
    Usable as ``@command`` or ``@command(...)``.

    Args:
        func: The method, when used without parentheses.
        level: Access level needed: ``observer``, ``operator`` or ``admin``.
        timeout: Seconds allowed, or ``None`` for the runtime's default.
        name: Command name on the wire (default: the method name).

    Raises:
        ValueError: If ``level``, ``timeout`` or ``name`` is invalid.
    """
    options = CommandOptions(
        level=check_level(level, "@command"),
        timeout=_check_timeout(timeout),
        name=_check_name(name),
        long=False,
        exclusive=False,
    )

    def mark(f: F) -> F:
        return _mark(f, options, "@command")

    return mark(func) if func is not None else mark


@overload
def operation(func: F, /) -> F: ...


@overload
def operation(*, level: str = "observer", name: str | None = None, exclusive: bool = True) -> Callable[[F], F]: ...


def operation(
    func: F | None = None,
    /,
    *,
    level: str = "observer",
    name: str | None = None,
    exclusive: bool = True,
) -> F | Callable[[F], F]:
    """Declare a method as a long operation (OCS-style session).

    The method's first parameter after ``self`` is the
    :class:`~pyros.service.Session` (annotated ``Session`` or named
    ``session``). Calling the command validates the other arguments, starts
    the method in its own thread and answers at once with ``{"session",
    "instance", "status": "starting"}``; ``status``, ``wait`` and ``abort``
    then act on the session. Usable as ``@operation`` or ``@operation(...)``.

    Args:
        func: The method, when used without parentheses.
        level: Access level needed to start (and to abort) it.
        name: Command name on the wire (default: the method name).
        exclusive: When true, starting it while a session of it runs is
            refused with ``Busy``.

    Raises:
        ValueError: If ``level`` or ``name`` is invalid.
    """
    options = CommandOptions(
        level=check_level(level, "@operation"),
        timeout=None,
        name=_check_name(name),
        long=True,
        exclusive=bool(exclusive),
    )

    def mark(f: F) -> F:
        return _mark(f, options, "@operation")

    return mark(func) if func is not None else mark


def _wire_default(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, tuple):
        value = list(value)
    try:
        pack(value)
    except (TypeError, ValueError, OverflowError):
        return repr(value)
    return value


@dataclass(frozen=True)
class ParamSpec:
    """One wire parameter of a command.

    Attributes:
        name: The argument name.
        annotation: The type hint (``Any`` when absent).
        required: Whether the request must supply it.
        default: The default value when not required.
        doc: Its text from the docstring's ``Args`` section.
        quantity: Unit and limits, from an ``Annotated[..., Quantity(...)]`` hint.
    """

    name: str
    annotation: Any
    required: bool
    default: Any
    doc: str
    quantity: Quantity | None = None

    def describe(self) -> dict[str, Any]:
        """Return the parameter as ``describe`` shows it."""
        described = {
            "name": self.name,
            "type": type_name(self.annotation),
            "required": self.required,
            "default": None if self.required else _wire_default(self.default),
            "doc": self.doc,
        }
        if self.quantity is not None:
            described.update(self.quantity.describe())
        return described


def _split_annotated(annotation: Any, where: str) -> tuple[Any, Quantity | None]:
    """``Annotated[T, Quantity(...)]`` → ``(T, Quantity)``, also inside ``Optional``; other hints unchanged."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        members = typing.get_args(annotation)
        split = [_split_annotated(member, where) for member in members]
        quantities = [quantity for _, quantity in split if quantity is not None]
        if not quantities:
            return annotation, None
        if len(quantities) > 1:
            raise TypeError(f"{where}: at most one Quantity per parameter")
        return typing.Union[tuple(base for base, _ in split)], quantities[0]  # noqa: UP007
    if origin is not typing.Annotated:
        return annotation, None
    base, *extras = typing.get_args(annotation)
    quantities = [extra for extra in extras if isinstance(extra, Quantity)]
    if len(quantities) > 1:
        raise TypeError(f"{where}: at most one Quantity per parameter")
    return base, (quantities[0] if quantities else None)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class CommandSpec:
    """Everything the runtime knows about one command.

    Attributes:
        name: The command name on the wire.
        attribute: The method's attribute name on the class.
        function: The (unbound) function.
        level: Access level needed.
        timeout: Declared timeout in seconds, or ``None`` (runtime default;
            no timeout for operations and for built-in ``wait``).
        long: Whether it is an operation (runs as a session).
        exclusive: For an operation, whether only one session may run at once.
        builtin: Whether it is one of the framework's built-in commands.
        description: The docstring's description part.
        params: The wire parameters, in signature order.
        returns: The return annotation (``Any`` when absent).
        session_param: Name of the parameter receiving the ``Session``.
        context_param: Name of the parameter receiving the ``CallContext``.
    """

    name: str
    attribute: str
    function: Callable[..., Any]
    level: str
    timeout: float | None
    long: bool
    exclusive: bool
    builtin: bool
    description: str
    params: tuple[ParamSpec, ...]
    returns: Any
    session_param: str | None = None
    context_param: str | None = None

    @classmethod
    def from_function(
        cls,
        owner: type,
        attribute: str,
        function: Callable[..., Any],
        options: CommandOptions,
        *,
        builtin: bool = False,
    ) -> CommandSpec:
        """Read a decorated method's signature, hints and docstring.

        Args:
            owner: The class the method is found on.
            attribute: The method's attribute name.
            function: The decorated function.
            options: What the decorator recorded.
            builtin: Whether it is a built-in command.

        Raises:
            TypeError: If the signature cannot be served (``*args``,
                ``**kwargs``, positional-only parameters, unresolvable or
                unsupported type hints, an operation without session).
        """
        where = f"{owner.__name__}.{attribute}"
        localns: dict[str, Any] = dict(vars(owner))
        localns.setdefault(owner.__name__, owner)
        try:
            hints = typing.get_type_hints(function, localns=localns, include_extras=True)
        except Exception as exc:  # noqa: BLE001 - any failure is reported the same way
            raise TypeError(f"cannot resolve the type hints of {where}: {exc}") from exc
        doc = parse_docstring(function.__doc__)
        parameters = list(inspect.signature(function).parameters.values())
        if not parameters or parameters[0].kind not in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            raise TypeError(f"{where} must be a method taking self")
        params: list[ParamSpec] = []
        session_param: str | None = None
        context_param: str | None = None
        for index, param in enumerate(parameters[1:], start=1):
            if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                raise TypeError(f"{where}: *args and **kwargs cannot be validated; declare each parameter")
            if param.kind is inspect.Parameter.POSITIONAL_ONLY:
                raise TypeError(f"{where}: parameter {param.name!r} is positional-only; arguments arrive by name")
            annotation, quantity = _split_annotated(hints.get(param.name, Any), f"{where}({param.name})")
            if annotation is CallContext:
                context_param = param.name
                continue
            if (
                options.long
                and index == 1
                and (annotation is Session or (param.name == "session" and param.name not in hints))
            ):
                session_param = param.name
                continue
            if annotation is Session:
                raise TypeError(f"{where}: the Session parameter must come first, after self, in an @operation")
            check_annotation(annotation, f"{where}({param.name})")
            required = param.default is inspect.Parameter.empty
            params.append(
                ParamSpec(
                    name=param.name,
                    annotation=annotation,
                    required=required,
                    default=None if required else param.default,
                    doc=doc.params.get(param.name, ""),
                    quantity=quantity,
                )
            )
        if options.long and session_param is None:
            raise TypeError(f"{where}: an @operation takes the Session as its first parameter after self")
        return cls(
            name=options.name or attribute,
            attribute=attribute,
            function=function,
            level=options.level,
            timeout=options.timeout,
            long=options.long,
            exclusive=options.exclusive,
            builtin=builtin,
            description=doc.description,
            params=tuple(params),
            returns=_split_annotated(hints.get("return", Any), f"{where} return")[0],
            session_param=session_param,
            context_param=context_param,
        )

    def _signature_text(self) -> str:
        return ", ".join(f"{p.name}: {type_name(p.annotation)}" for p in self.params) or "none"

    def bind(self, args: Mapping[Any, Any]) -> dict[str, Any]:
        """Validate request arguments and return them converted for the call.

        Args:
            args: The request's ``args`` map (untrusted).

        Returns:
            Keyword arguments for the method, defaults left to Python.

        Raises:
            Refusal: ``BadArgument`` naming the argument and what was
                expected and received.
        """
        for key in args:
            if not isinstance(key, str):
                raise Refusal(
                    "BadArgument",
                    f"command '{self.name}': argument names must be strings, got {describe_value(key)}",
                )
        by_name = {p.name: p for p in self.params}
        missing = [p for p in self.params if p.required and p.name not in args]
        if missing:
            names = ", ".join(f"'{p.name}' ({type_name(p.annotation)})" for p in missing)
            plural = "s" if len(missing) > 1 else ""
            raise Refusal("BadArgument", f"command '{self.name}': missing required argument{plural} {names}")
        unknown = sorted(key for key in args if key not in by_name)
        if unknown:
            names = ", ".join(repr(_short(key)) for key in unknown)
            plural = "s" if len(unknown) > 1 else ""
            raise Refusal(
                "BadArgument",
                f"command '{self.name}': unknown argument{plural} {names}; it takes: {self._signature_text()}",
            )
        kwargs: dict[str, Any] = {}
        for name, value in args.items():
            param = by_name[name]
            try:
                kwargs[name] = coerce(value, param.annotation, name)
            except ArgumentTypeError as exc:
                message = (
                    f"command '{self.name}': argument '{name}' expected {type_name(param.annotation)}, "
                    f"got {describe_value(value)}"
                )
                if exc.path != name:
                    message += f" (at {exc.path}: expected {exc.expected}, got {exc.got})"
                raise Refusal("BadArgument", message) from None
            if param.quantity is not None:
                problem = param.quantity.problem(kwargs[name])
                if problem is not None:
                    raise Refusal("BadArgument", f"command '{self.name}': argument '{name}': {problem}")
        return kwargs

    def invoke(
        self,
        target: object,
        kwargs: Mapping[str, Any],
        *,
        session: Session | None = None,
        context: CallContext | None = None,
    ) -> Any:
        """Call the method on ``target`` with validated arguments and injected objects.

        Args:
            target: The service (or built-in command holder) instance.
            kwargs: Arguments returned by :meth:`bind`.
            session: The session, for an operation.
            context: The call context, for a method that declares one.

        Returns:
            Whatever the method returns.
        """
        call: dict[str, Any] = dict(kwargs)
        if self.session_param is not None:
            call[self.session_param] = session
        if self.context_param is not None:
            call[self.context_param] = context
        return self.function(target, **call)

    def describe(self, default_timeout: float | None) -> dict[str, Any]:
        """Return the command as ``describe`` shows it.

        Args:
            default_timeout: The runtime's default timeout, shown for a
                plain command that declares none.
        """
        timeout = self.timeout
        if timeout is None and not self.long and not self.builtin:
            timeout = default_timeout
        return {
            "doc": self.description,
            "level": self.level,
            "timeout": timeout,
            "long": self.long,
            "builtin": self.builtin,
            "params": [p.describe() for p in self.params],
            "returns": type_name(self.returns),
        }


def command_options(value: object) -> CommandOptions | None:
    """Return the options a decorator put on ``value``, or ``None`` if it is not a command."""
    if not inspect.isfunction(value):
        return None
    options = getattr(value, _OPTIONS_ATTR, None)
    return options if isinstance(options, CommandOptions) else None


def collect_commands(owner: type, *, builtin: bool = False) -> dict[str, CommandSpec]:
    """Return the commands declared on a class and its bases, by wire name.

    A method overridden without a decorator is no longer a command.

    Args:
        owner: The class.
        builtin: Whether these are the framework's built-in commands.

    Raises:
        TypeError: If two methods claim one name or a signature cannot be served.
    """
    specs: dict[str, CommandSpec] = {}
    for attribute in dir(owner):
        raw = inspect.getattr_static(owner, attribute)
        options = command_options(raw)
        if options is None:
            continue
        spec = CommandSpec.from_function(owner, attribute, raw, options, builtin=builtin)
        if spec.name in specs:
            other = specs[spec.name].attribute
            raise TypeError(f"{owner.__name__}: methods {other!r} and {attribute!r} both declare command {spec.name!r}")
        specs[spec.name] = spec
    return specs
