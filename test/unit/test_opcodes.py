import pytest

from ganeti import errors, opcodes


def test_round_trip_fills_defaults():
    op = opcodes.OpCode.from_dict({"OP_ID": "OP_TEST_DELAY", "duration": 0.5})
    data = op.to_dict()
    assert data["OP_ID"] == "OP_TEST_DELAY"
    assert data["on_master"] is True and data["repeat"] == 0 and data["priority"] == 0
    again = opcodes.OpCode.from_dict(data)
    assert again.to_dict() == data


@pytest.mark.parametrize("data,fragment", [
    ({"OP_ID": "OP_TEST_DELAY", "duration": 1, "bogus": 1}, "bogus"),
    ({"OP_ID": "OP_TEST_DELAY"}, "missing"),
    ({"OP_ID": "OP_TEST_DELAY", "duration": "x"}, "fails validation"),
    ({"OP_ID": "OP_NO_SUCH"}, "Unknown opcode"),
    ({"duration": 1}, "OP_ID"),
    ("notadict", "not a dict"),
    ({"OP_ID": "OP_TEST_DELAY", "duration": 1, "priority": 99}, "priority"),
])
def test_bad_opcodes_rejected(data, fragment):
    with pytest.raises(errors.OpPrereqError) as exc:
        opcodes.OpCode.from_dict(data)
    assert fragment in exc.value.args[0]
    assert exc.value.args[1] == errors.ECODE_INVAL


@pytest.mark.parametrize("duration,text", [(0.01, "1.0e-2"), (0.0, "0.0"), (1.0, "1.0"),
                                           (10, "10.0"), (0.5, "0.5")])
def test_delay_summary_like_upstream(duration, text):
    op = opcodes.OpCode("OP_TEST_DELAY", duration=duration)
    assert op.summary() == "TEST_DELAY(%s)" % text


def test_summary_uses_name_param():
    op = opcodes.OpCode("OP_INSTANCE_STARTUP", instance_name="inst2.example.com")
    assert op.summary() == "INSTANCE_STARTUP(inst2.example.com)"
    assert opcodes.summary_of({"OP_ID": "OP_CLUSTER_VERIFY"}) == "CLUSTER_VERIFY"


def test_every_opcode_has_unique_params():
    for op_id, (params, key, doc) in opcodes.OPCODE_TABLE.items():
        names = [p[0] for p in params]
        assert len(names) == len(set(names)), op_id
        assert key is None or key in names, op_id
        assert doc
