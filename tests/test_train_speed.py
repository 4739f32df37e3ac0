"""The trainer's speed and precision settings, in-process on the tiny model: packing keeps answer-only labels
and per-sample attention, recipe aliases map in one place, hardware/ picks the attention kernel, LoRA adapters
stay fp32 under bf16, and the gradient-checkpointing default follows a memory estimate."""

import pytest
import torch

from mathmind.errors import UserError
from mathmind.hardware.kinds import KINDS
from mathmind.hardware.runtime import attention_implementation
from mathmind.launch.recipe import SpeedOptions, speed_options
from mathmind.launch.sft import checkpointing_needed, keep_trainable_fp32, load_model, load_tokenizer, sft_config
from mathmind.problems import make_problems


def rows(n=24):
    return [{"messages": [{"role": "user", "content": p["question"]},
                          {"role": "assistant", "content": f"{p['work']}\nThe answer is \\boxed{{{p['answer_number']}}}."}]}
            for p in make_problems(n)]


def trainer_for(tiny_model, tmp_path, **values):
    from datasets import Dataset
    from trl import SFTTrainer

    values = {"model_name_or_path": str(tiny_model), "template": "qwen", "output_dir": str(tmp_path / "out"),
              "per_device_train_batch_size": 6, "cutoff_len": 512, "seed": 0, **values}
    config = sft_config(values, dict(KINDS["cpu"].trainer_args), None)
    model, _ = load_model(values, config, KINDS["cpu"])
    trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows()),
                         processing_class=load_tokenizer(values), peft_config=None)
    return trainer


def segments(batch):
    """(start, end) of each sample in a padding-free row: position_ids restart at 0 per sample."""
    starts = (batch["position_ids"][0] == 0).nonzero().flatten().tolist()
    return list(zip(starts, starts[1:] + [batch["position_ids"].shape[1]]))


def test_packing_keeps_answer_only_labels_across_sample_boundaries(tiny_model, tmp_path):
    unpacked = trainer_for(tiny_model, tmp_path / "a")
    expected = {tuple(r["input_ids"]): r["labels"] if "labels" in r else None for r in unpacked.train_dataset}
    assert all(v is not None for v in expected.values())
    packed = trainer_for(tiny_model, tmp_path / "b", neat_packing=True)
    batch = next(iter(packed.get_train_dataloader()))
    assert "attention_mask" not in batch and batch["input_ids"].shape[0] == 1     # padding-free: one row
    spans = segments(batch)
    assert len(spans) >= 6
    for start, end in spans:
        ids, labels = batch["input_ids"][0, start:end].tolist(), batch["labels"][0, start:end].tolist()
        want = expected[tuple(ids)]
        assert labels == [-100] + list(want[1:])         # the sample's own answer-only labels; its first token never a target
        assert labels[0] == -100 and -100 in labels[1:] and any(t != -100 for t in labels)   # prompt masked, answer trained


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_packed_attention_does_not_leak_across_samples(tiny_model, tmp_path, attention):
    trainer = trainer_for(tiny_model, tmp_path, neat_packing=True, flash_attn={"sdpa": "sdpa", "eager": "disabled"}[attention])
    model = trainer.model.eval()
    assert model.config._attn_implementation == attention
    batch = next(iter(trainer.get_train_dataloader()))
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    with torch.no_grad():
        packed = model(**inputs).logits[0]
        leaky = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                      attention_mask=torch.ones_like(batch["input_ids"])).logits[0]   # a mask hides the packing
        for start, end in segments(batch)[1:]:
            alone = model(input_ids=batch["input_ids"][:, start:end]).logits[0]
            torch.testing.assert_close(packed[start:end], alone, atol=1e-4, rtol=1e-4)
        start, end = segments(batch)[1]
        assert not torch.allclose(leaky[start:end], model(input_ids=batch["input_ids"][:, start:end]).logits[0], atol=1e-4)


def test_speed_keys_from_llamafactory_and_openmind_map_in_one_place():
    assert speed_options({}) == SpeedOptions()
    got = speed_options({"neat_packing": True, "enable_liger_kernel": False, "disable_gradient_checkpointing": True,
                         "pure_bf16": True, "flash_attn": "fa2"})
    assert got == SpeedOptions(pure_bf16=True, packing=True, liger=False, gradient_checkpointing=False, attention="flash_attention_2")
    assert speed_options({"use_gradient_checkpointing": True}).gradient_checkpointing is True
    assert speed_options({"use_npu_fusion_attention": True}).attention == "flash_attention_2"
    with pytest.raises(UserError, match="r.yaml: disable_gradient_checkpointing contradicts gradient_checkpointing"):
        speed_options({"gradient_checkpointing": True, "disable_gradient_checkpointing": True}, "r.yaml")
    with pytest.raises(UserError, match="flash_attn: expected one of auto, disabled"):
        speed_options({"flash_attn": "fa9"})
    with pytest.raises(UserError, match="neat_packing: expected true or false"):
        speed_options({"neat_packing": "yes"})


def test_hardware_picks_the_attention_kernel(tmp_path, monkeypatch):
    assert attention_implementation(KINDS["cpu"], "auto") == ("sdpa", None)
    assert attention_implementation(KINDS["cuda"], "auto") == ("sdpa", None)       # no flash_attn installed here
    impl, note = attention_implementation(KINDS["cpu"], "flash_attention_2")
    assert impl == "sdpa" and "cpu has no flash-attention kernel" in note
    for module in ("flash_attn", "torch_npu"):
        (tmp_path / module).mkdir()
        (tmp_path / module / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert attention_implementation(KINDS["cuda"], "auto") == ("flash_attention_2", None)
    assert attention_implementation(KINDS["npu"], "auto") == ("flash_attention_2", None)   # torch_npu's fused attention
    assert attention_implementation(KINDS["cuda"], "eager") == ("eager", None)


def test_lora_adapters_stay_fp32_and_full_bf16_trains_fp32_master_weights(tiny_model, tmp_path):
    from datasets import Dataset
    from trl import SFTTrainer

    from mathmind.launch.sft import lora_config

    for finetuning, pure in (("lora", False), ("full", False), ("full", True)):
        values = {"model_name_or_path": str(tiny_model), "template": "qwen", "output_dir": str(tmp_path / finetuning),
                  "bf16": True, "pure_bf16": pure, "finetuning_type": finetuning, "lora_rank": 4}
        config = sft_config(values, dict(KINDS["cpu"].trainer_args), None)
        model, _ = load_model(values, config, KINDS["cpu"])
        trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows(4)),
                             processing_class=load_tokenizer(values), peft_config=lora_config(values))
        keep_trainable_fp32(trainer.model, values, config)
        trainable = {p.dtype for p in trainer.model.parameters() if p.requires_grad}
        frozen = {p.dtype for p in trainer.model.parameters() if not p.requires_grad}
        assert trainable == ({torch.bfloat16} if pure else {torch.float32}), (finetuning, pure)
        if finetuning == "lora":
            assert frozen == {torch.bfloat16}                    # the base stays half: only adapters are trained


def shaped(hidden, intermediate, layers, heads, kv_heads, vocab, tied):
    """A model of a real shape on the meta device: parameter counts without memory."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(hidden_size=hidden, intermediate_size=intermediate, num_hidden_layers=layers, num_attention_heads=heads,
                         num_key_value_heads=kv_heads, vocab_size=vocab, tie_word_embeddings=tied)
    with torch.device("meta"):
        return Qwen2ForCausalLM(config)


def test_gradient_checkpointing_default_follows_memory(tmp_path):
    from trl import SFTConfig

    gib = 1024 ** 3
    qwen_1_5b = shaped(1536, 8960, 28, 12, 2, 151936, True)
    qwen_7b = shaped(3584, 18944, 28, 28, 4, 152064, False)

    def needed(model, batch, values, memory_gib, world=1):
        config = SFTConfig(output_dir=str(tmp_path), per_device_train_batch_size=batch, max_length=4096, bf16=True,
                           use_cpu=True, activation_checkpointing=False)
        return checkpointing_needed(model, values, config, int(memory_gib * gib), world)

    assert not needed(qwen_1_5b, 4, {}, 79.2)                    # 1.5B, batch 4 x 4k on one H100: fits without it
    assert needed(qwen_1_5b, 8, {}, 79.2)                        # twice the tokens do not
    assert needed(qwen_7b, 1, {"deepspeed": "recipes/deepspeed/ds_z2.json"}, 64, world=8)   # 7B full, ZeRO-2, 910B 64 GB
    assert not needed(qwen_7b, 1, {"deepspeed": "recipes/deepspeed/ds_z3.json"}, 64, world=8)
    assert not needed(qwen_7b, 1, {"deepspeed": "recipes/deepspeed/ds_z2.json", "finetuning_type": "lora"}, 64, world=8)
