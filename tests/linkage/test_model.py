import pytest

from dtsen.linkage import model as m


def _params() -> m.ModelParams:
    levels = {}
    for name, make in m.COMPARISONS.items():
        scored = [lv for lv in make() if type(lv).__name__ != "NullLevel"]
        levels[name] = [{"label": str(i), "m": 0.5 / (i + 1), "u": 0.1 * (i + 1)} for i in range(len(scored))]
    return m.ModelParams(prior=1e-6, levels=levels, trained_on={"rows": 10})


def test_params_round_trip_and_checksum() -> None:
    p = _params()
    q = m.ModelParams.from_json(p.as_json())
    assert q.levels == p.levels
    assert q.prior == p.prior
    assert q.sha256 == p.sha256
    q.prior = 2e-6
    assert q.sha256 != p.sha256


def test_params_of_another_model_refused() -> None:
    text = _params().as_json().replace(m.MODEL_NAME, "someone-else")
    with pytest.raises(ValueError, match="someone-else"):
        m.ModelParams.from_json(text)


def test_settings_carry_the_trained_values() -> None:
    p = _params()
    s = m.settings(p).get_settings("duckdb")
    assert s._probability_two_random_records_match == pytest.approx(1e-6)
    nik = next(c for c in s.comparisons if c.output_column_name == "nik")
    scored = [lv for lv in nik.comparison_levels if not lv.is_null_level]
    assert [lv.m_probability for lv in scored] == pytest.approx([x["m"] for x in p.levels["nik"]])
    assert [lv.u_probability for lv in scored] == pytest.approx([x["u"] for x in p.levels["nik"]])


def test_parameters_for_another_level_layout_refused() -> None:
    p = _params()
    p.levels["nik"] = p.levels["nik"][:-1]
    with pytest.raises(ValueError, match="nik"):
        m.settings(p)


def test_cross_column_blocking_rule_is_sql() -> None:
    assert m.blocking_rule(("birth_swap=birth_date", "first_word")) == (
        "l.birth_swap = r.birth_date AND l.first_word = r.first_word"
    )
