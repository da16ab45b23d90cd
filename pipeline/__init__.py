"""ahnpl.pipeline"""
