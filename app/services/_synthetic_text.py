"""Interview lines for synthetic cases: a loan officer's questions and an applicant's answers.

Mostly English with some Mandarin turns, as in a mixed-language branch. A few answers carry the
cues the text scoring looks for (hedging, over-assurance, evasion, lending-fraud slang) so the risk
words and scores of a synthetic case are not flat.
"""

from __future__ import annotations

QUESTIONS_EN: tuple[str, ...] = (
    "What is your monthly income?",
    "Where do you work now?",
    "How long have you been with your current employer?",
    "Have you taken any other loans in the last year?",
    "Why do you need this loan?",
    "What will you use the money for?",
    "Who prepared your bank statements?",
    "Do you have any other debts or credit cards?",
    "Can you describe your job in a few words?",
    "How will you repay the loan each month?",
    "Did anyone help you fill in the application?",
    "What is your home address?",
    "Is anyone else paying part of your rent?",
    "When did you open this bank account?",
)

QUESTIONS_ZH: tuple[str, ...] = (
    "你现在每个月收入多少？",
    "你在哪里工作？",
    "这笔贷款你打算用来做什么？",
    "最近一年有没有在别的平台借过钱？",
    "你的银行流水是谁帮你准备的？",
    "你打算怎么按月还款？",
)

ANSWERS_EN: tuple[str, ...] = (
    "I work at a logistics company in the city centre, I have been there for three years.",
    "My salary is about eight thousand a month, paid on the fifteenth.",
    "I want to renovate the kitchen, we got a quote from a contractor last week.",
    "No, I have no other loans, only one credit card that I pay off every month.",
    "I drive a delivery van in the morning and I do the invoices in the afternoon.",
    "My wife also works, so we share the rent and the bills.",
    "I opened the account in twenty nineteen when I started the job.",
    "I will pay it back from my salary, it is about a fifth of what I earn.",
    "Honestly, I think maybe it was around five thousand a month, I don't remember exactly.",
    "I don't really know, my friend handled the paperwork for me.",
    "To be honest it is for a business idea, I can't say much about it yet.",
    "Well, um, I guess the statements came from the agent, he said it was normal.",
    "I swear it is all true, you can check everything, I promise.",
    "My friend helped me with fake bank statements for the application, but only to show the income.",
    "Maybe two or three loans, I am not sure, they were small ones on my phone.",
    "I live on Green Street, number twelve, on the second floor, with my family.",
    "It was last March, I remember because it was right after my birthday.",
    "Nobody helped me, I filled it in myself at home on Sunday evening.",
)

ANSWERS_ZH: tuple[str, ...] = (
    "我在一家物流公司上班，已经做了三年了。",
    "每个月工资大概八千块，十五号发。",
    "主要是装修厨房，上周已经找师傅报过价了。",
    "说实话，我可能记不清了，之前在网上撸口子借过一点。",
    "我不记得了，流水是中介帮我包装的。",
    "没有别的贷款，就一张信用卡，每个月都还清。",
    "这个不太方便说，反正是做点小生意。",
    "我保证都是真的，你们可以随便查。",
)
