"""The applicant speaking back: the SKM survey and complaints (pengaduan)."""
