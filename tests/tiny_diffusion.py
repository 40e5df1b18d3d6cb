"""Tiny random-weight diffusers models built from configs (no Hub): a StableDiffusionPipeline saved
with save_pretrained, and random IP-Adapter FaceID weights saved as safetensors. Test helper."""
from __future__ import annotations

import tempfile
from pathlib import Path

FACEID_FILE = "ip-adapter-faceid-tiny.safetensors"
ID_DIM = 16


def _tokenizer(folder: Path):
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import CLIPTokenizer

    bpe = Tokenizer(models.BPE(end_of_word_suffix="</w>", unk_token="<|endoftext|>"))
    bpe.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "),
                                           normalizers.Lowercase()])
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    corpus = ["studio headshot portrait photo of a year-old man woman person, neutral grey background",
              "a photo of a woman sitting at a desk in a garden by a bookshelf on a beach stage window"] * 20
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|startoftext|>", "<|endoftext|>"], end_of_word_suffix="</w>",
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    folder.mkdir(parents=True, exist_ok=True)
    bpe.model.save(str(folder))
    return CLIPTokenizer(vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt"), model_max_length=16)


def build_tiny_sd(root: Path) -> tuple[Path, Path]:
    """Save a tiny SD pipeline to root/sd and a random FaceID adapter to root/faceid; return both."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from safetensors.torch import save_file
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        tok = _tokenizer(Path(tmp))
        text = CLIPTextModel(CLIPTextConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=37,
                                            num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=16,
                                            projection_dim=32, bos_token_id=tok.bos_token_id,
                                            eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id))
        unet = UNet2DConditionModel(sample_size=16, in_channels=4, out_channels=4, layers_per_block=1,
                                    block_out_channels=(32, 64), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32,
                                    attention_head_dim=8, norm_num_groups=32)
        vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(32, 64),
                            down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                            norm_num_groups=32, sample_size=32)
        sched = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1)
        pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tok, unet=unet, scheduler=sched,
                                       safety_checker=None, feature_extractor=None, requires_safety_checker=False)
        pipe.save_pretrained(root / "sd")
    x, blocks, weights, key = unet.config.cross_attention_dim, unet.config.block_out_channels, {}, 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue  # self-attention gets no IP-Adapter weights
        hs = (blocks[-1] if name.startswith("mid_block") else list(reversed(blocks))[int(name[10])]
              if name.startswith("up_blocks") else blocks[int(name[12])])
        weights[f"ip_adapter.{key}.to_k_ip.weight"] = torch.randn(hs, x) * 0.02
        weights[f"ip_adapter.{key}.to_v_ip.weight"] = torch.randn(hs, x) * 0.02
        key += 2  # diffusers numbers the cross-attention processors 1, 3, 5, ...
    weights.update({"image_proj.proj.0.weight": torch.randn(2 * ID_DIM, ID_DIM) * 0.1,
                    "image_proj.proj.0.bias": torch.zeros(2 * ID_DIM),
                    "image_proj.proj.2.weight": torch.randn(4 * x, 2 * ID_DIM) * 0.1,
                    "image_proj.proj.2.bias": torch.zeros(4 * x),
                    "image_proj.norm.weight": torch.ones(x), "image_proj.norm.bias": torch.zeros(x)})
    (root / "faceid").mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in weights.items()}, str(root / "faceid" / FACEID_FILE))
    return root / "sd", root / "faceid"
