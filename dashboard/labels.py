"""Every word the dashboard shows, in English and Indonesian."""

from __future__ import annotations

LANGUAGES = {"en": "English", "id": "Bahasa Indonesia"}

_LABELS: dict[str, dict[str, str]] = {
    "title": {"en": "Batik Nitik motif studio", "id": "Studio motif Batik Nitik"},
    "intro": {
        "en": "Describe a motif or upload a photo: find the closest traditional Batik Nitik motifs, "
        "see the prompt fused from them, and generate a new design.",
        "id": "Tuliskan motif atau unggah foto: temukan motif Batik Nitik tradisional yang paling "
        "mirip, lihat prompt yang dipadukan darinya, dan buat desain baru.",
    },
    "language": {"en": "Language", "id": "Bahasa"},
    "query": {"en": "Query", "id": "Kueri"},
    "text": {"en": "Describe a motif", "id": "Deskripsikan motif"},
    "text_placeholder": {
        "en": "e.g. sekar bunga, brown flowers",
        "id": "mis. sekar bunga, bunga cokelat",
    },
    "image": {"en": "…or upload a photo", "id": "…atau unggah foto"},
    "settings": {"en": "Settings", "id": "Pengaturan"},
    "top_k": {"en": "Motifs to retrieve", "id": "Jumlah motif"},
    "strength": {
        "en": "Strength (departure from the reference)",
        "id": "Kekuatan (jarak dari referensi)",
    },
    "guidance": {"en": "Guidance scale", "id": "Skala panduan"},
    "seed": {"en": "Seed (empty: random)", "id": "Seed (kosong: acak)"},
    "advanced": {"en": "More", "id": "Lainnya"},
    "pakem": {"en": "Pakem (traditional rules)", "id": "Pakem (aturan tradisi)"},
    "tile": {"en": "Seamless repeat", "id": "Pengulangan tanpa sambungan"},
    "repeat_type": {"en": "Repeat type", "id": "Jenis pengulangan"},
    "symmetry": {"en": "Symmetry", "id": "Simetri"},
    "style": {"en": "Style (LoRA)", "id": "Gaya (LoRA)"},
    "no_style": {"en": "none", "id": "tanpa gaya"},
    "style_scale": {"en": "Style strength", "id": "Kekuatan gaya"},
    "preview_repeat": {"en": "Show the 3x3 repeat", "id": "Tampilkan pengulangan 3x3"},
    "repeat": {"en": "Repeated 3x3, as on the cloth", "id": "Diulang 3x3, seperti di kain"},
    "steps": {"en": "Denoising steps", "id": "Langkah denoising"},
    "negative": {"en": "Negative prompt", "id": "Prompt negatif"},
    "run": {"en": "Generate", "id": "Buat"},
    "running": {
        "en": "Retrieving, captioning and generating…",
        "id": "Mencari, memberi keterangan, dan membuat…",
    },
    # stages of a RAG job, shown over the progress bar
    "stage.queued": {"en": "Waiting in the queue…", "id": "Menunggu giliran…"},
    "stage.retrieval": {"en": "Finding similar motifs…", "id": "Mencari motif serupa…"},
    "stage.captioning": {"en": "Describing the reference…", "id": "Memberi keterangan referensi…"},
    "stage.fusion": {"en": "Composing the prompt…", "id": "Menyusun prompt…"},
    "stage.generation": {"en": "Generating the motif", "id": "Membuat motif"},
    "error.cancelled": {"en": "The job was cancelled", "id": "Pekerjaan dibatalkan"},
    "need_input": {
        "en": "Write a description or upload a photo first.",
        "id": "Tulis deskripsi atau unggah foto dulu.",
    },
    "empty": {"en": "Results appear here.", "id": "Hasil muncul di sini."},
    "references": {"en": "Closest traditional motifs", "id": "Motif tradisional terdekat"},
    "cosine": {"en": "cosine", "id": "kosinus"},
    # why a reference ranks where it does: the channels of the fused ranking
    "why.name": {"en": "name match", "id": "nama cocok"},
    "why.description": {"en": "description match", "id": "deskripsi cocok"},
    "why.words": {"en": "words match", "id": "kata cocok"},  # a server without the two parts
    "why.visual": {"en": "visual", "id": "visual"},
    "why.not_visual": {
        "en": "not among the visual matches",
        "id": "tidak di antara kemiripan visual",
    },
    "prompt": {"en": "Fused prompt", "id": "Prompt gabungan"},
    "tokens": {"en": "tokens of 77", "id": "token dari 77"},
    "parts": {"en": "Parts", "id": "Bagian"},
    "cut": {"en": "Cut to fit 77 tokens", "id": "Dipotong agar muat 77 token"},
    "captions": {"en": "Captions", "id": "Keterangan"},
    "generated": {"en": "Generated motif", "id": "Motif hasil"},
    "download": {"en": "Download PNG", "id": "Unduh PNG"},
    "details": {"en": "Details", "id": "Rincian"},
    "cache_hit": {"en": "from cache", "id": "dari cache"},
    "degraded": {"en": "Answered without", "id": "Dijawab tanpa"},
    "no_image": {"en": "No image was generated.", "id": "Tidak ada gambar yang dibuat."},
    "request_id": {"en": "request id", "id": "id permintaan"},
    "retry_after": {"en": "Try again in {s} s.", "id": "Coba lagi dalam {s} dtk."},
    # the design library
    "nav.generate": {"en": "Generate", "id": "Buat"},
    "nav.library": {"en": "Library", "id": "Pustaka"},
    "library": {"en": "Your designs", "id": "Desain Anda"},
    "library.empty": {
        "en": "No designs yet: each generated motif is kept here.",
        "id": "Belum ada desain: setiap motif yang dibuat disimpan di sini.",
    },
    "filter.words": {"en": "Words", "id": "Kata"},
    "filter.motif": {"en": "Motif number", "id": "Nomor motif"},
    "filter.board": {"en": "Board", "id": "Papan"},
    "filter.all": {"en": "All", "id": "Semua"},
    "filter.favorites": {"en": "Favourites", "id": "Favorit"},
    "open": {"en": "Open", "id": "Buka"},
    "more": {"en": "Older designs", "id": "Desain lebih lama"},
    "back": {"en": "Back to the library", "id": "Kembali ke pustaka"},
    "design": {"en": "Design", "id": "Desain"},
    "remix_of": {"en": "Remix of", "id": "Remiks dari"},
    "open_parent": {"en": "Open the original", "id": "Buka aslinya"},
    "original": {"en": "An original (no parent).", "id": "Asli (tanpa induk)."},
    "parameters": {"en": "Parameters", "id": "Parameter"},
    "favorite": {"en": "☆ Favourite", "id": "☆ Favorit"},
    "unfavorite": {"en": "★ Favourite", "id": "★ Favorit"},
    "remix": {"en": "Remix", "id": "Remiks"},
    "delete": {"en": "Delete", "id": "Hapus"},
    "on_boards": {"en": "On boards", "id": "Di papan"},
    "board": {"en": "Board", "id": "Papan"},
    "new_board": {"en": "…or a new board", "id": "…atau papan baru"},
    "add_to_board": {"en": "Add to board", "id": "Tambahkan ke papan"},
    "remixing": {"en": "The next run remixes", "id": "Proses berikutnya me-remiks"},
    "remix_clear": {"en": "Not a remix", "id": "Bukan remiks"},
    "saved": {"en": "Saved in the library as", "id": "Disimpan di pustaka sebagai"},
    "not_saved": {
        "en": "Not saved: the library is unavailable.",
        "id": "Tidak disimpan: pustaka tidak tersedia.",
    },
    # the Export panel of a design
    "export": {"en": "Export for print", "id": "Ekspor untuk cetak"},
    "export.format": {"en": "Format", "id": "Format"},
    "export.width_cm": {"en": "Width (cm)", "id": "Lebar (cm)"},
    "export.dpi": {"en": "dpi", "id": "dpi"},
    "export.repeat": {"en": "Repeat", "id": "Pengulangan"},
    "export.palette": {"en": "Palette", "id": "Palet"},
    "export.palette.none": {"en": "The design's colours", "id": "Warna desain"},
    "export.make": {"en": "Export", "id": "Ekspor"},
    "export.download": {"en": "Download", "id": "Unduh"},
    "export.true_scale": {
        "en": "At true scale (a centimetre on the ruler is one on the cloth, on a screen of 96 "
        "CSS pixels per inch)",
        "id": "Ukuran sebenarnya (satu sentimeter pada penggaris sama dengan satu di kain, pada "
        "layar 96 piksel CSS per inci)",
    },
    "export.dots": {"en": "dots", "id": "titik"},
    "export.difference": {
        "en": "mean difference from the raster, drawn by resvg",
        "id": "selisih rata-rata dari raster, digambar oleh resvg",
    },
    "repeat.none": {"en": "None (one tile)", "id": "Tanpa (satu ubin)"},
    "repeat.full": {"en": "Full drop", "id": "Penuh"},
    "repeat.half_drop": {"en": "Half drop", "id": "Setengah turun"},
    "repeat.half_brick": {"en": "Half brick", "id": "Setengah bata"},
    "repeat.mirror": {"en": "Mirror", "id": "Cermin"},
    # errors, by the gateway's error type
    "error": {"en": "Something went wrong", "id": "Terjadi kesalahan"},
    "error.unreachable": {
        "en": "The gateway cannot be reached",
        "id": "Gateway tidak dapat dihubungi",
    },
    "error.timeout": {"en": "The gateway took too long", "id": "Gateway terlalu lama menjawab"},
    "error.unauthorized": {
        "en": "An API key is needed (DASHBOARD_API_KEY)",
        "id": "Perlu kunci API (DASHBOARD_API_KEY)",
    },
    "error.forbidden": {
        "en": "The API key was refused (DASHBOARD_API_KEY)",
        "id": "Kunci API ditolak (DASHBOARD_API_KEY)",
    },
    "error.overloaded": {"en": "Busy right now", "id": "Sedang sibuk"},
    "error.not_ready": {
        "en": "The models are still loading",
        "id": "Model masih dimuat",
    },
    "error.breaker_open": {
        "en": "A model service keeps failing; the gateway is giving it a pause",
        "id": "Layanan model terus gagal; gateway memberinya jeda",
    },
    "error.out_of_memory": {
        "en": "The GPU ran out of memory; try fewer images or a smaller size",
        "id": "Memori GPU habis; coba lebih sedikit gambar atau ukuran lebih kecil",
    },
    "error.store_unavailable": {
        "en": "The design library is unavailable right now",
        "id": "Pustaka desain sedang tidak tersedia",
    },
    "error.quota_exceeded": {"en": "The design library is full", "id": "Pustaka desain penuh"},
    "error.idempotency_mismatch": {
        "en": "That request key was already used for another request",
        "id": "Kunci permintaan itu sudah dipakai untuk permintaan lain",
    },
    "error.no_job_store": {
        "en": "Background jobs are unavailable (no Redis)",
        "id": "Pekerjaan latar tidak tersedia (tanpa Redis)",
    },
    "error.validation": {"en": "Please check the input", "id": "Periksa masukan"},
    "error.payload_too_large": {"en": "The photo is too large", "id": "Foto terlalu besar"},
    "error.unsupported_media": {
        "en": "That file is not a PNG, JPEG or WebP image",
        "id": "Berkas itu bukan gambar PNG, JPEG, atau WebP",
    },
    "error.not_found": {"en": "Not found", "id": "Tidak ditemukan"},
    "error.method_not_allowed": {
        "en": "The gateway does not offer this",
        "id": "Gateway tidak menyediakan ini",
    },
    "error.upstream": {"en": "A model service failed", "id": "Layanan model gagal"},
    "error.upstream_timeout": {
        "en": "A model service took too long",
        "id": "Layanan model terlalu lama",
    },
}


def label(key: str, language: str = "en") -> str:
    entry = _LABELS.get(key)
    if entry is None:
        return _LABELS["error"][language] if key.startswith("error.") else key
    return entry.get(language) or entry["en"]
