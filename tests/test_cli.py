import subprocess
import sys

from keraslab import cli


def test_help_lists_every_subcommand(capsys):
    assert cli.main([]) == 2
    text = capsys.readouterr().out
    for name in cli.SUBCOMMANDS:
        assert name in text


def test_import_and_help_do_not_load_tensorflow():
    code = (
        "import sys, keraslab, keraslab.cli\n"
        "keraslab.cli.build_parser(['--help'])\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'heavy import'\n"
        "print(keraslab.__version__)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == __import__("keraslab").__version__


def test_subpackages_load_on_first_use():
    import keraslab

    assert keraslab.layers.GroupNorm.__module__ == "keraslab.layers.group_norm"
    assert callable(keraslab.initializers.lsuv_init)
