"""A program's options as a typed, frozen dataclass built from its train parser: one field per
flag (the type its parser converts to, its default) and the fields the program derives once,
where it resolves its options. Nothing changes a run's options; a step that derives more
returns a copy (common.cli.replaced).
"""
import argparse
import dataclasses
import typing


class ProgramOptions:
    """What every program's options class has besides its fields."""

    PARSER = None  # the train parser the class was built from

    @classmethod
    def parse(cls, argv=None):
        """The options of a command line, validated by the parser's types."""
        return cls(**vars(cls.PARSER.parse_args(argv)))

    def with_saved(self, saved):
        """These options overridden by a saved run's options.json (a dict). Keys that are not
        fields (the file's options_format, flags a later version dropped) are left out."""
        names = {field.name for field in dataclasses.fields(self)}
        return dataclasses.replace(self, **{k: v for k, v in saved.items() if k in names})

    def as_dict(self):
        return dataclasses.asdict(self)


def options_class(name, parser, module, derived=()):
    """The frozen dataclass `module`.`name` (assign it there, so it pickles) of `parser`'s
    flags, with the `derived` fields, (name, type, default) each, after them."""
    fields, seen = [], set()
    # argparse lists a parser's flags and set_defaults() only in these private attributes
    # (_actions, _defaults; stable since Python 3.2); test_cli's options tests read them back.
    for action in parser._actions:
        if action.dest in seen or action.dest in ("help", argparse.SUPPRESS):
            continue
        seen.add(action.dest)
        fields.append((action.dest, flag_type(action), _default(parser.get_default(action.dest))))
    for dest, value in parser._defaults.items():  # set_defaults without a flag (program)
        if dest not in seen:
            seen.add(dest)
            fields.append((dest, type(value), _default(value)))
    fields += [(dest, kind, _default(value)) for dest, kind, value in derived]
    result = dataclasses.make_dataclass(name, fields, bases=(ProgramOptions,), frozen=True,
                                        namespace={"PARSER": parser})
    result.__module__ = module
    return result


def flag_type(action):
    """The type a flag's value has after parsing: bool for switches, the choices as a Literal,
    else what its `type` converts to (common.cli's checks say so in `result_type`); Optional
    when it may be left at None, a list for nargs * and +."""
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        return bool
    if action.choices:
        kind = typing.Literal[tuple(action.choices)]
    else:
        kind = getattr(action.type, "result_type", action.type) or str
    if action.nargs in ("*", "+"):
        kind = list[kind]
    if action.default is None:
        kind = typing.Optional[kind]
    return kind


def _default(value):
    if isinstance(value, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(value)(value))
    return dataclasses.field(default=value)
