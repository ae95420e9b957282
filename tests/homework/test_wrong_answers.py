"""homework_wrong_answers: the tests of each homework catch a wrong submission. For every
notebook, the first wrong answer listed for it in wrong_answers.json is substituted into the
instructor notebook (by grade_id) and run with `conclab run --allow-errors`: the test cells it
names under "fails" fail and those under "passes" pass. (check_wrong_answers.py runs all of
them, as many times as asked: the racy ones fail on every run.)"""
import json

import pytest

from check_wrong_answers import WRONG_ANSWERS, check

ENTRIES = json.loads(WRONG_ANSWERS.read_text(encoding="utf-8"))
FIRST_PER_NOTEBOOK = list({entry["notebook"]: entry for entry in reversed(ENTRIES)}.values())[::-1]


@pytest.mark.parametrize("entry", FIRST_PER_NOTEBOOK, ids=lambda e: f"{e['notebook'][:2]}-{e['name']}")
def test_wrong_answer_is_caught(entry):
    problems = check(entry, times=1)
    assert not problems, "\n".join(problems)
