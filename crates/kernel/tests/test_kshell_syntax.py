"""The kernel shell's lexer, parser, expansion and globbing, without a
kernel: quoting, operators, redirections, $VAR/${VAR}/$?, field splitting,
and pattern matching against a directory dict."""
import pytest

from akuma.kernel.kshell.expand import expand_word, expand_single, ExpansionError
from akuma.kernel.kshell.glob import glob
from akuma.kernel.kshell.lexer import tokenize, Word, Op, Redir, Incomplete, ShellSyntaxError
from akuma.kernel.kshell.parser import parse

VARS = {"HOME": "/root", "X": "a  b", "E": "", "P": "*.c", "?": "3", "$": "42"}


def lookup(name):
    return VARS.get(name)


def words(text):
    return [t.literal() for t in tokenize(text) if isinstance(t, Word)]


def fields(text, glob_fn=None):
    out = []
    for w in parse(text)[0].first.commands[0].words:
        out += expand_word(w, lookup, glob_fn)
    return out


# -- lexer -------------------------------------------------------------------------------------

def test_quotes_are_removed_and_keep_spaces():
    assert words("echo 'a b' \"c d\" e\\ f g'h'\"i\"") == ["echo", "a b", "c d", "e f", "ghi"]


def test_backslash_in_double_quotes_escapes_only_specials():
    assert words(r'echo "a\$b \"q\" \\ \n"') == ["echo", 'a$b "q" \\ \\n']


def test_operators_split_words_without_spaces():
    ops = [t.op for t in tokenize("a|b||c&&d;e&") if isinstance(t, Op)]
    assert ops == ["|", "||", "&&", ";", "&"]


def test_redirections_with_io_numbers():
    reds = [(t.fd, t.op, t.target.literal()) for t in tokenize("cmd <in >out 2>err >>app 2>&1 &>all")
            if isinstance(t, Redir)]
    assert reds == [(None, "<", "in"), (None, ">", "out"), (2, ">", "err"), (None, ">>", "app"),
                    (2, ">&", "1"), (None, "&>", "all")]


def test_digits_not_before_a_redirection_are_a_word():
    assert words("echo 2 3x") == ["echo", "2", "3x"]


def test_comments_are_skipped():
    assert words("echo a # b c") == ["echo", "a"]
    assert words("echo a#b") == ["echo", "a#b"]


@pytest.mark.parametrize("text", ["echo 'abc", 'echo "abc', "echo a\\", "a |", "a &&", "a ||"])
def test_unfinished_input_asks_for_more(text):
    with pytest.raises(Incomplete):
        tokenize(text)


# -- parser --------------------------------------------------------------------------------------

def test_chains_and_background():
    items = parse("a && b || c; d & e")
    assert [(i.first.commands[0].words[0].literal(), [op for op, _ in i.rest], i.background)
            for i in items] == [("a", ["&&", "||"], False), ("d", [], True), ("e", [], False)]
    assert items[0].text == "a && b || c"


def test_pipeline_text_and_negation():
    (item,) = parse("! echo hi | wc -c")
    assert item.first.negate
    assert len(item.first.commands) == 2
    assert item.first.text == "echo hi | wc -c"


def test_assignments_only_before_the_command_name():
    (item,) = parse("A=1 B='x y' env C=2")
    cmd = item.first.commands[0]
    assert [(n, v.literal()) for n, v in cmd.assigns] == [("A", "1"), ("B", "x y")]
    assert [w.literal() for w in cmd.words] == ["env", "C=2"]


def test_newlines_separate_commands_and_continue_pipes():
    items = parse("echo a |\n cat\necho b\n")
    assert len(items) == 2
    assert len(items[0].first.commands) == 2


@pytest.mark.parametrize("text", ["| a", "a ;; b", "a | | b", "a >", "a && ; b", "(a)"])
def test_syntax_errors(text):
    with pytest.raises(ShellSyntaxError):
        parse(text)


# -- expansion ----------------------------------------------------------------------------------

def test_variables_split_unquoted_and_stay_whole_quoted():
    assert fields('echo $X "$X" ${X}x \'$X\' \\$X') == ["echo", "a", "b", "a  b", "a", "bx",
                                                         "$X", "$X"]


def test_special_parameters():
    assert fields("echo $? $$ ${?}") == ["echo", "3", "42", "3"]


def test_empty_unquoted_expansion_vanishes_but_quoted_stays():
    assert fields('echo $E "$E" $NOPE ""') == ["echo", "", ""]


def test_defaults_and_tilde():
    assert fields("echo ${NOPE:-dflt} ${E:-d2} ~ ~/x a~") == ["echo", "dflt", "d2", "/root",
                                                              "/root/x", "a~"]
    assert fields("echo x${E-d3}y") == ["echo", "xy"]


def test_assignment_values_are_not_split():
    (item,) = parse("Y=$X")
    assert expand_single(item.first.commands[0].assigns[0][1], lookup) == "a  b"


def test_bad_substitution():
    with pytest.raises(ExpansionError):
        fields("echo ${X%y}")


# -- globbing -------------------------------------------------------------------------------------

TREE = {".": ["a.c", "b.c", "c.h", ".hidden.c", "src", "x[1]"],
        "src": ["main.c", "util.c", "README"], "/": ["bin", "etc", "src"],
        "/bin": ["cat", "sh"]}


def listdir(path):
    return TREE.get(path.rstrip("/") or "/", [])


def is_dir(path):
    return path.rstrip("/") in ("src", "/bin", "/", ".") or path == "/"


def pattern(text, active=True):
    return list(text), [active and c in "*?[]" for c in text]


@pytest.mark.parametrize("pat,expected", [
    ("*.c", ["a.c", "b.c"]),
    ("?.[ch]", ["a.c", "b.c", "c.h"]),
    ("[!a].c", ["b.c"]),
    ("[a-b].c", ["a.c", "b.c"]),
    (".*.c", [".hidden.c"]),
    ("src/*.c", ["src/main.c", "src/util.c"]),
    ("*/README", ["src/README"]),
    ("/bin/*", ["/bin/cat", "/bin/sh"]),
    ("*/", ["src/"]),
    ("*.zip", []),
])
def test_glob_patterns(pat, expected):
    assert glob(*pattern(pat), listdir, is_dir) == expected


def test_quoted_metacharacters_do_not_glob():
    chars, _ = pattern("*.c")
    assert glob(chars, [False, False, False], listdir, is_dir) == []


def test_expansion_globs_unquoted_words_and_keeps_unmatched():
    g = lambda chars, active: glob(chars, active, listdir, is_dir)   # noqa: E731
    assert fields("echo *.c '*.c' \"*\".c *.zip $P", g) == \
        ["echo", "a.c", "b.c", "*.c", "*.c", "*.zip", "a.c", "b.c"]
